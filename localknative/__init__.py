"""A local stand-in for Knative Serving + Eventing, driven by the manifests in ``knative/``.

It honours the contracts the functions depend on (broker ingress, triggers,
delivery, replies, scale from and to zero, ``PORT``/``K_*``) on one machine. On a
cluster, Knative does all of this; nothing here is deployed there.
"""
