from cropaug.cli import main

main()
