"""The admission policy ``deploy init`` writes beside a Kubernetes file when the manifest
signs its images (release.image.signing): a Kyverno ClusterPolicy that admits a pod only
when the model image it runs, or the ModelPack artifact it mounts, carries a signature of
the release key and a gates attestation of that key that says ``passed``.

Kyverno reads cosign's layout, which ``image sign`` writes (``.sig``, ``.att`` with DSSE
in-toto statements). The key is offline (no Rekor, no certificate log), as the signing is.
"""

from __future__ import annotations

from typing import Any

from mlops_ci.core.attestation import GATES

GATES_CONDITION = "{{ result }}"  # Kyverno's JMESPath over the gates predicate


def kyverno_policy(app: str, repository: str, public_key_pem: str) -> str:
    """A ClusterPolicy named ``<app>-model-admission`` for the images of ``repository``."""
    import yaml

    attestors = [
        {
            "entries": [
                {
                    "keys": {
                        "publicKeys": public_key_pem.strip() + "\n",
                        "rekor": {"ignoreTlog": True},
                        "ctlog": {"ignoreSCT": True},
                    }
                }
            ]
        }
    ]
    verify = {
        "imageReferences": [f"{repository}:*", f"{repository}@*"],
        "failureAction": "Enforce",
        "required": True,
        "verifyDigest": True,
        "attestors": attestors,
        "attestations": [
            {
                "type": GATES,
                "attestors": attestors,
                "conditions": [
                    {"all": [{"key": GATES_CONDITION, "operator": "Equals", "value": "passed"}]}
                ],
            }
        ],
    }
    pods = {"any": [{"resources": {"kinds": ["Pod"]}}]}
    policy: dict[str, Any] = {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": f"{app}-model-admission"},
        "spec": {
            "background": False,
            "webhookConfiguration": {"failurePolicy": "Fail", "timeoutSeconds": 30},
            "rules": [
                {"name": "model-image-signed-and-passed", "match": pods, "verifyImages": [verify]},
                {
                    # Image volumes are not among the images Kyverno finds in a pod itself.
                    "name": "model-volume-signed-and-passed",
                    "match": pods,
                    "imageExtractors": {
                        "Pod": [
                            {
                                "name": "model-volumes",
                                "path": "/spec/volumes/*/image",
                                "value": "reference",
                            }
                        ]
                    },
                    "verifyImages": [verify],
                },
            ],
        },
    }

    class Dumper(yaml.SafeDumper):
        pass

    def literal(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
        style = "|" if "\n" in text else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)

    Dumper.add_representer(str, literal)
    Dumper.ignore_aliases = lambda *_: True  # type: ignore[method-assign]
    body = yaml.dump(policy, Dumper=Dumper, sort_keys=False, width=1000)
    return (
        f"# Admission for {app}: a pod runs the model image (or mounts its ModelPack artifact)\n"
        "# only when the release key signed it and attested that it passed its gates.\n"
        "# Needs Kyverno (kyverno.io/v1); apply it once per cluster, before the deploy file.\n"
        + body
    )
