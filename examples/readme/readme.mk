# The README's quick starts, run as written (examples/readme/check_readme.py):
# every `<!-- quickstart: ... -->` block's commands, literally, from the
# directory it names, in a clean environment, output compared with the
# README's; every `<!-- example: FILE -->` block must equal FILE.
#
#   make test-readme                  all of them (part of `make test`)
#   make test-readme-list             the commands it runs
#   python3 examples/readme/check_readme.py NAME...   some blocks only
#
# The blocks call make themselves (make build, make java, ...); building
# those first here keeps a parallel `make test` from building them twice.

.PHONY: test-readme test-readme-list

test-readme: lib examples-c $(if $(wildcard bindings/java/java.mk),java)
	timeout 900 python3 examples/readme/check_readme.py

test-readme-list:
	@python3 examples/readme/check_readme.py --list

TEST_TARGETS += test-readme
