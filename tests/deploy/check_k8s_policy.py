#!/usr/bin/python3
"""Checks the rendered overlays (JSON lines, one object each) against agentwatch's deployment
rules, which schema validation cannot see:

  every agentwatch Deployment: probes on /readyz (readiness) and /healthz (liveness), resource
  requests and a memory limit, non-root uid, read-only root file system, no privilege
  escalation, all capabilities dropped, no service-account token, scrape annotations naming
  its HTTP port, the Secret and ConfigMap references resolvable in the same overlay (or
  documented as external in prod/canary);
  stable overlays (dev, prod): per service a headless Service, an HPA and a PDB aimed at it,
  and a NetworkPolicy selecting its pods;
  canary: only Deployments with one replica and track=canary, and Services selecting
  track=canary; no HPA/PDB of their own.

    check_k8s_policy.py RENDERED.jsonl...   (file names: <overlay>.jsonl)
"""

import json
import os
import sys

SERVICES = ("monitor", "incident", "capacity", "cost")
HTTP_PORT = {"monitor": 9101, "incident": 9102, "capacity": 9103, "cost": 9104}
EXTERNAL_SECRETS = {"agentwatch-postgres", "agentwatch-auth"}
errors = []


def fail(where, message):
    errors.append(f"{where}: {message}")


def check_deployment(overlay, d, names):
    where = f"{overlay} Deployment/{d['metadata']['name']}"
    spec = d["spec"]["template"]["spec"]
    meta = d["spec"]["template"]["metadata"]
    svc = meta["labels"].get("app.kubernetes.io/component")
    ann = meta.get("annotations", {})
    if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/port") != str(
            HTTP_PORT.get(svc)):
        fail(where, f"scrape annotations wrong: {ann}")
    if spec.get("automountServiceAccountToken") is not False:
        fail(where, "mounts a service-account token")
    pod_sc = spec.get("securityContext", {})
    if not pod_sc.get("runAsNonRoot") or pod_sc.get("runAsUser", 0) == 0:
        fail(where, "pod may run as root")
    if pod_sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        fail(where, "no RuntimeDefault seccomp profile")
    for c in spec["containers"]:
        cw = f"{where} container {c['name']}"
        sc = c.get("securityContext", {})
        if not sc.get("readOnlyRootFilesystem"):
            fail(cw, "root file system is writable")
        if sc.get("allowPrivilegeEscalation") is not False:
            fail(cw, "privilege escalation allowed")
        if sc.get("capabilities", {}).get("drop") != ["ALL"]:
            fail(cw, "capabilities not all dropped")
        if c.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/readyz":
            fail(cw, "readiness probe is not GET /readyz")
        if c.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/healthz":
            fail(cw, "liveness probe is not GET /healthz")
        res = c.get("resources", {})
        if not res.get("requests", {}).get("cpu") or not res.get("requests", {}).get("memory"):
            fail(cw, "no CPU/memory requests")
        if not res.get("limits", {}).get("memory"):
            fail(cw, "no memory limit")
        if ":" not in c["image"] or c["image"].endswith(":latest"):
            fail(cw, f"image {c['image']} is not pinned to a tag")
        for env in c.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref and ref["name"] not in names["Secret"] and ref["name"] not in EXTERNAL_SECRETS:
                fail(cw, f"Secret {ref['name']} is neither generated nor a documented external one")
        for src in c.get("envFrom", []):
            ref = src.get("configMapRef")
            if ref and ref["name"] not in names["ConfigMap"]:
                fail(cw, f"ConfigMap {ref['name']} is not in the overlay")
    for vol in spec.get("volumes", []):
        secret = vol.get("secret", {}).get("secretName")
        if secret and secret not in names["Secret"] and secret not in EXTERNAL_SECRETS:
            fail(where, f"volume Secret {secret} is unknown")
    return svc


def main():
    for path in sys.argv[1:]:
        overlay = os.path.basename(path).split(".")[0]
        objs = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
        names = {}
        for o in objs:
            names.setdefault(o["kind"], set()).add(o["metadata"]["name"])
        for kind in ("Secret", "ConfigMap"):
            names.setdefault(kind, set())
        if overlay == "dev":
            for secret in EXTERNAL_SECRETS:
                if not any(n.startswith(secret + "-") or n == secret for n in names["Secret"]):
                    fail(overlay, f"dev does not generate Secret {secret}")
        deployments = [o for o in objs if o["kind"] == "Deployment"
                       and o["metadata"].get("labels", {}).get("app.kubernetes.io/part-of")
                       == "agentwatch"]
        seen = {check_deployment(overlay, d, names) for d in deployments}
        if overlay == "canary":
            for d in deployments:
                if d["spec"]["replicas"] != 1 or \
                        d["spec"]["selector"]["matchLabels"].get("track") != "canary":
                    fail(f"canary {d['metadata']['name']}", "not one replica with track=canary")
            for s in (o for o in objs if o["kind"] == "Service"):
                if s["spec"]["selector"].get("track") != "canary":
                    fail(f"canary Service/{s['metadata']['name']}", "does not select track=canary")
            for kind in ("HorizontalPodAutoscaler", "PodDisruptionBudget"):
                if names.get(kind):
                    fail(overlay, f"has its own {kind}: {sorted(names[kind])}")
        else:
            for svc in SERVICES:
                name = f"agentwatch-{svc}"
                if svc not in seen:
                    fail(overlay, f"no Deployment for {svc}")
                services = [o for o in objs if o["kind"] == "Service"
                            and o["metadata"]["name"] == name]
                if not services or services[0]["spec"].get("clusterIP") != "None":
                    fail(overlay, f"{name}: no headless Service")
                hpa = [o for o in objs if o["kind"] == "HorizontalPodAutoscaler"
                       and o["spec"]["scaleTargetRef"]["name"] == name]
                if not hpa:
                    fail(overlay, f"{name}: no HPA")
                pdb = [o for o in objs if o["kind"] == "PodDisruptionBudget"
                       and o["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/name")
                       == name]
                if not pdb:
                    fail(overlay, f"{name}: no PDB")
                netpol = [o for o in objs if o["kind"] == "NetworkPolicy"
                          and o["spec"]["podSelector"].get("matchLabels", {})
                          .get("app.kubernetes.io/name") == name]
                if not netpol:
                    fail(overlay, f"{name}: no NetworkPolicy")
                deps = [d for d in deployments if d["metadata"]["name"] == name]
                if deps and hpa and deps[0]["spec"]["replicas"] < hpa[0]["spec"]["minReplicas"]:
                    fail(overlay, f"{name}: replicas below the HPA minimum")
        print(f"{overlay}: {len(objs)} objects, {len(deployments)} agentwatch Deployments checked")
    for e in errors:
        print("  error:", e)
    print(("FAILED" if errors else "ok") + f": {len(errors)} policy violations")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
