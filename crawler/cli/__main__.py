"""`python -m crawler.cli`: the same as the `codeindex` command."""

from crawler.cli import main

main()
