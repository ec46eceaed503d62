import sys

from inkling.training.cli import main

sys.exit(main())
