"""sweeper/datasets"""
