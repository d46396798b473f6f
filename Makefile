# The two set-up commands: `make run` and `make test`. Each installs what is missing first.
.PHONY: run test screenshots release

run:
	./scripts/run

test:
	./scripts/test

# Refreshes the README's screenshots from the real UI.
screenshots:
	GATEHOUSE_SCREENSHOTS=1 ./scripts/e2e screenshots.spec.ts

# Release build; prints the browser bundle's size raw and gzipped.
release:
	./scripts/build-release
