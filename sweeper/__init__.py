"""sweeper"""
