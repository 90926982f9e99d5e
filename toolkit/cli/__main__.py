"""`python -m toolkit.cli ...`: the `qst` command without the installed script."""

from toolkit.cli import main

if __name__ == "__main__":
    main()
