"""rdial.synth"""
