import os,time,sys
path='/tmp/C/fsync.probe'
fd=os.open(path,os.O_RDWR|os.O_CREAT)
os.write(fd,b'\0'*(4096*256)); os.fsync(fd)
ts=[]
for i in range(int(sys.argv[1]) if len(sys.argv)>1 else 200):
    os.pwrite(fd,b'x'*4096,4096*(i%256))
    t=time.perf_counter(); os.fdatasync(fd); ts.append(time.perf_counter()-t)
os.close(fd); os.unlink(path)
ts.sort(); n=len(ts)
print('fdatasync of a 4 KiB overwrite on /tmp (ext4, /dev/vda): n=%d p50 %.2f ms p90 %.2f ms p99 %.2f ms'%(n,ts[n//2]*1e3,ts[int(n*.9)]*1e3,ts[int(n*.99)]*1e3))
