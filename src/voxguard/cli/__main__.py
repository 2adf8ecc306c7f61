import sys

from voxguard.cli.main import main

sys.exit(main())
