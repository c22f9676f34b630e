"""`python -m generator` runs the statusgen command line."""
from .cli import main

main()
