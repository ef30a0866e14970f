import sys

from jdmstats.cli import main

sys.exit(main())
