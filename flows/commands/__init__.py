"""Command modules of the voc CLI that live outside flows/cli.py."""
