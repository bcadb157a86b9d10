"""rdial.filter"""
