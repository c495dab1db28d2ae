# The seed's workflow: make build, make up, make down. Replicas are containers the balancer starts
# through the Docker socket; compose runs the balancer only.
#   make build              image ringlb:latest on the public Node image
#   make build BASE=local   the same on a base image made from this machine's node (no registry)
#   make swarm-up           the same system as a Swarm stack (stack.yaml), joining a swarm if none
#   make swarm-down         the stack, its network and (if swarm-up made it) the swarm go away
BASE ?= node:20-bookworm-slim
CLUSTER ?= ringlb
PORT ?= 5000
PROJECT ?= $(CLUSTER)
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)
BASE_IMAGE := $(if $(filter local,$(BASE)),ringlb-base:local,$(BASE))
export RINGLB_CLUSTER_NAME := $(CLUSTER)
export RINGLB_PUBLISH_PORT := $(PORT)
export BASE_IMAGE

STACK ?= ringlb
# The address other nodes reach this one at, if swarm-up creates the swarm (one node: loopback).
SWARM_ADDR ?= 127.0.0.1
IMAGE ?= ringlb:latest
# swarm-up labels the node it made a swarm on, so that swarm-down leaves only a swarm of its own.
SWARM_MARK := io.ringlb.swarm-made-for

.PHONY: build base up down logs test swarm-up swarm-down

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

# Joins a swarm if the daemon is in none, deploys stack.yaml, and waits until the balancer answers.
swarm-up:
	@docker image inspect $(IMAGE) >/dev/null 2>&1 || { echo "image $(IMAGE) is missing: make build (BASE=local without a registry)" >&2; exit 1; }
	@if [ "$$(docker info --format '{{.Swarm.LocalNodeState}}')" != active ]; then \
	  docker swarm init --advertise-addr $(SWARM_ADDR) >/dev/null && \
	  docker node update --label-add $(SWARM_MARK)=$(STACK) "$$(docker info --format '{{.Swarm.NodeID}}')" >/dev/null && \
	  echo "swarm created on this node (swarm-down leaves it)"; fi
	RINGLB_IMAGE=$(IMAGE) RINGLB_STACK=$(STACK) RINGLB_PUBLISH_PORT=$(PORT) docker stack deploy --resolve-image never -c stack.yaml $(STACK)
	@for i in $$(seq 1 180); do \
	  if curl -fsS -o /dev/null http://127.0.0.1:$(PORT)/rep 2>/dev/null; then echo "serving on :$(PORT)"; exit 0; fi; sleep 0.5; \
	done; docker service ps --no-trunc $(STACK)_balancer; echo "the balancer does not answer on :$(PORT) after 90 s" >&2; exit 1

# Removes the stack and waits until its services, containers and network are gone; leaves the swarm
# if swarm-up created it for this stack and nothing else runs in it. `docker stack rm` tries the
# network only once, often while tasks are still stopping, so its removal is retried here.
swarm-down:
	-docker stack rm $(STACK)
	@for i in $$(seq 1 120); do \
	  left="$$(docker ps -aq --filter label=com.docker.stack.namespace=$(STACK))$$(docker network ls -q --filter label=com.docker.stack.namespace=$(STACK))"; \
	  [ -z "$$left" ] && break; \
	  if [ $$((i % 4)) = 0 ]; then \
	    nets="$$(docker network ls -q --filter label=com.docker.stack.namespace=$(STACK))"; \
	    if [ -n "$$nets" ]; then docker network rm $$nets >/dev/null 2>&1 || true; fi; \
	  fi; \
	  sleep 0.5; \
	done; \
	if [ -n "$$left" ]; then echo "stack $(STACK) is not gone after 60 s" >&2; exit 1; fi
	@if [ "$$(docker info --format '{{.Swarm.ControlAvailable}}')" = true ] && \
	  [ "$$(docker node inspect self --format '{{index .Spec.Labels "$(SWARM_MARK)"}}')" = "$(STACK)" ]; then \
	  if [ -z "$$(docker service ls -q)" ]; then docker swarm leave --force >/dev/null && echo "left the swarm swarm-up created"; \
	  else echo "the swarm swarm-up created still runs other services: not leaving it"; fi; fi
