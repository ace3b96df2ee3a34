"""mood"""
