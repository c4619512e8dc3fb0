#!/usr/bin/env python3
"""A list file of Debian's emoji set (ruby-gemojione) with each emoji's category as its label.

    python3 examples/emoji_list.py LIST [GEM_DIR]

GEM_DIR (default: /usr/share/rubygems-integration/all/gems/gemojione-3.3.0) holds
assets/png/*.png (1,794 RGBA PNGs of 64 x 64) and config/index.json, whose entries name
each PNG (their "unicode" field) and its "category" (people, symbols, flags, ...). LIST
gets one line `path category` for each, in index.json's order (by short name: ":100:",
":1234:", ":8ball:", ...), the paths relative to LIST's folder, as gan_dataset_load_images
reads them. Prints the number of lines.
"""
import json
import os
import sys

GEM_DIR = "/usr/share/rubygems-integration/all/gems/gemojione-3.3.0"


def main(argv):
    if len(argv) not in (2, 3):
        sys.exit("usage: emoji_list.py LIST [GEM_DIR]")
    out = argv[1]
    gem = argv[2] if len(argv) == 3 else GEM_DIR
    with open(os.path.join(gem, "config", "index.json"), encoding="utf-8") as f:
        index = json.load(f)
    folder = os.path.dirname(os.path.abspath(out))
    png = os.path.relpath(os.path.join(os.path.abspath(gem), "assets", "png"), folder)
    lines = []
    for entry in index.values():
        path = os.path.join(png, entry["unicode"] + ".png")
        if any(c.isspace() for c in path + entry["category"]):
            sys.exit(f"emoji_list.py: white space in {path!r} or its category")
        lines.append(f"{path} {entry['category']}\n")
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.writelines(lines)
    os.replace(tmp, out)
    print(f"{out}: {len(lines)} images")


if __name__ == "__main__":
    main(sys.argv)
