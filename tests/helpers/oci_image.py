#!/usr/bin/env python3
"""Writes a hostile image straight into an OCI layout (a berth-image store), bypassing every
builder: the tests need image configs and layers no well-behaved tool would make.

  oci_image.py STORE REF CONFIG_JSON LAYER.tar...

CONFIG_JSON is the image config's "config" object (User, Volumes, Cmd...). Each layer is an
uncompressed tar; its DiffID is its digest. REF is stored as the ref.name annotation, the way
berth-image and skopeo tag images in an OCI layout.
"""
import hashlib
import json
import os
import sys


def put(store, data):
    d = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(store, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(store, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return "sha256:" + d, len(data)


def main():
    store, ref, cfg = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    layers, diffs = [], []
    for path in sys.argv[4:]:
        with open(path, "rb") as f:
            digest, size = put(store, f.read())
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar",
                       "digest": digest, "size": size})
        diffs.append(digest)
    config = {"architecture": "amd64", "os": "linux", "config": cfg,
              "rootfs": {"type": "layers", "diff_ids": diffs}}
    cdig, csize = put(store, json.dumps(config).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": cdig, "size": csize},
                "layers": layers}
    mdig, msize = put(store, json.dumps(manifest).encode())
    with open(os.path.join(store, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    index_path = os.path.join(store, "index.json")
    index = {"schemaVersion": 2, "manifests": []}
    if os.path.exists(index_path):
        with open(index_path) as f:
            index = json.load(f)
    key = "org.opencontainers.image.ref.name"
    index["manifests"] = [m for m in index.get("manifests", [])
                          if m.get("annotations", {}).get(key) != ref]
    index["manifests"].append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "digest": mdig, "size": msize, "annotations": {key: ref}})
    with open(index_path + ".tmp", "w") as f:
        json.dump(index, f)
    os.rename(index_path + ".tmp", index_path)


if __name__ == "__main__":
    main()
