from cti_daemon.cli import main

raise SystemExit(main())
