# Tasks: make test | lint | format | check | train | bench
PYTHON ?= python

test:
	pytest

lint:
	ruff check .
	ruff format --check .

format:
	ruff format .
	ruff check --fix .

check: lint test

train:
	$(PYTHON) train.py

bench:
	$(PYTHON) bench/run.py

.PHONY: test lint format check train bench
