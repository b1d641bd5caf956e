import sys

from microbranch.cli import main

if __name__ == "__main__":  # not when a spawned import process loads this module as its parent's main
    sys.exit(main())
