import sys

from microbranch.cli import main

sys.exit(main())
