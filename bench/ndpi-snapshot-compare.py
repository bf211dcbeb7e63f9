"""Compares two bench/ndpi-snapshot.ts folders: classify/predict answers cell by cell, old column names mapped to
the answer layout (docs/ANSWERS.md). usage: python3 bench/ndpi-snapshot-compare.py BEFORE AFTER"""
import csv, glob, os, sys
ren = {'model_category':'category.label','model_category_confidence':'category.confidence','model_category_unknown_reason':'category.unknown_reason',
       'vpn':'vpn.label','vpn_confidence':'vpn.confidence','vpn_unknown_reason':'vpn.unknown_reason',
       'predicted':'category.label','confidence':'category.confidence','unknown_reason':'category.unknown_reason'}
def rd(p):
    with open(p) as f: return list(csv.DictReader(f))
for kind in ['classify','predict']:
    files=sorted(glob.glob(f'{sys.argv[1]}/*.{kind}.csv')); bad=0; rows=0; cells=0; missing=set()
    for f in files:
        g=sys.argv[2]+'/'+os.path.basename(f)
        if not os.path.exists(g):
            if os.path.getsize(f)>0: print('missing',g); bad+=1
            continue
        a,b=rd(f),rd(g)
        if len(a)!=len(b): print('rows',f,len(a),len(b)); bad+=1; continue
        rows+=len(a)
        for x,y in zip(a,b):
            for k,v in x.items():
                n=ren.get(k,k)
                if n not in y: missing.add(k); continue
                w=y[n]
                if k.endswith('confidence') and k!='category_confidence' and v!='' and w!='':
                    same = abs(float(v)-float(w))<=0.0005+1e-9
                else: same = v==w
                cells+=1
                if not same:
                    bad+=1
                    if bad<10: print(kind,os.path.basename(f),k,repr(v),repr(w))
    print(kind, len(files),'files', rows,'rows', cells,'cells compared', bad,'differ; old columns not in new:', sorted(missing))
