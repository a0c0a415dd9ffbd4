"""launchers/kinds"""
