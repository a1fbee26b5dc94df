from vaeport.cli import main

raise SystemExit(main())
