import sys

from lib.blog.cli import main

sys.exit(main())
