# Shortcuts; the scripts are the source of truth.
.PHONY: run test setup train token
run:
	scripts/run.sh
test:
	scripts/test.sh
setup:
	scripts/setup.sh
train:
	scripts/train.sh
token:
	.venv/bin/python -m bot token $(CUSTOMER)
