import sys

from chargeline.cli import main

sys.exit(main())
