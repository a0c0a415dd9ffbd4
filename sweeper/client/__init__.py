"""sweeper/client"""
