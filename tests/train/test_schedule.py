import pytest
import torch

from rdial.train.schedule import LRSchedule, lr_factor


def test_noam_warms_up_linearly_then_decays_with_inverse_sqrt():
    assert [lr_factor("noam", s, 4, 100) for s in (1, 2, 4, 16, 64)] == [0.25, 0.5, 1.0, 0.5, 0.25]


def test_cosine_ends_at_a_tenth():
    assert lr_factor("cosine", 2, 4, 104) == 0.5  # warmup
    assert lr_factor("cosine", 4, 4, 104) == pytest.approx(1.0)
    assert lr_factor("cosine", 54, 4, 104) == pytest.approx(0.55)
    assert lr_factor("cosine", 104, 4, 104) == pytest.approx(0.1)


def test_schedule_state_round_trips():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    schedule = LRSchedule(opt, lr=2.0, schedule="noam", warmup=4, max_steps=10)
    assert opt.param_groups[0]["lr"] == 0.5
    for _ in range(3):
        schedule.step()
    assert opt.param_groups[0]["lr"] == 2.0
    other = LRSchedule(opt, lr=2.0, schedule="noam", warmup=4, max_steps=10)
    other.load_state_dict(schedule.state_dict())
    assert opt.param_groups[0]["lr"] == 2.0
