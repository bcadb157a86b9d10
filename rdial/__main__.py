from rdial.cli import main

raise SystemExit(main())
