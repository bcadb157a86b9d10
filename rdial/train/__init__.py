"""rdial.train"""
