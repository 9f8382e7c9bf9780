import os, random, time
sum(i * i for i in range(int(os.environ.get("N", "150000"))))
if random.random() < float(os.environ.get("HICCUP", "0")):
    time.sleep(0.04)
