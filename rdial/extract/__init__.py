"""rdial.extract"""
