"""launchers/sim"""
