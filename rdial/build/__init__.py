"""rdial.build"""
