# The seed's workflow: make build, make up, make down. Replicas are containers the balancer starts
# through the Docker socket; compose runs the balancer only.
#   make build              image ringlb:latest on the public Node image
#   make build BASE=local   the same on a base image made from this machine's node (no registry)
BASE ?= node:20-bookworm-slim
CLUSTER ?= ringlb
PORT ?= 5000
PROJECT ?= $(CLUSTER)
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
BASE_IMAGE := $(if $(filter local,$(BASE)),ringlb-base:local,$(BASE))
export RINGLB_CLUSTER_NAME := $(CLUSTER)
export RINGLB_PUBLISH_PORT := $(PORT)
export BASE_IMAGE

.PHONY: build base up down logs test

build: $(if $(filter local,$(BASE)),base)
	docker build --build-arg BASE=$(BASE_IMAGE) -t ringlb:latest .

base:
	docker/make-base-image.sh ringlb-base:local

up:
	$(COMPOSE) -p $(PROJECT) -f compose.yaml up -d

# The balancer first (it keeps its replicas on exit), then every replica container of the cluster,
# then the rest (the network); nothing of ours is left.
down:
	-$(COMPOSE) -p $(PROJECT) -f compose.yaml stop balancer
	@ids="$$(docker ps -aq --filter label=io.ringlb.cluster=$(CLUSTER))"; \
	  if [ -n "$$ids" ]; then docker rm -f $$ids >/dev/null; fi
	$(COMPOSE) -p $(PROJECT) -f compose.yaml down --remove-orphans

logs:
	$(COMPOSE) -p $(PROJECT) -f compose.yaml logs -f balancer

test:
	npm test
