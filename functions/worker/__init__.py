"""The worker image the cluster operator starts as a Kubernetes Job (not a Knative service).

On a cluster it is ``ghcr.io/binks-functions/worker``; the local platform runs the
same module as a one-shot process in the Job's place.
"""
