from featherbox.cli.app import main

main()
