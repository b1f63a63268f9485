from rma.cli import main

raise SystemExit(main())
