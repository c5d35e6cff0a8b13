#!/usr/bin/env python3
"""Regenerates the README inputs/outputs tables from action.yml (tests/docs.rs checks them)."""
import yaml,re
a=yaml.safe_load(open('action.yml'))
def row(k,v):
    d=v.get('default','')
    d='' if d in ('',None) else "`%s`" % d
    desc=v['description'].strip().replace('|','\\|')
    return "| `%s` | %s | %s | %s |" % (k, 'yes' if v.get('required') else 'no', d, desc)
inputs="| Input | Required | Default | Description |\n|---|---|---|---|\n"+"\n".join(row(k,v) for k,v in a['inputs'].items())+"\n"
outputs="| Output | Description |\n|---|---|\n"+"".join("| `%s` | %s |\n" % (k, v['description'].strip()) for k,v in a['outputs'].items())
r=open('README.md').read()
r=re.sub(r"\| Input \| Required.*?\n\n", lambda m: inputs+"\n", r, flags=re.S)
r=re.sub(r"\| Output \| Description.*?\n\n", lambda m: outputs+"\n", r, flags=re.S)
open('README.md','w').write(r)
