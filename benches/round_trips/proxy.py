# A counting TCP proxy: counts, per connection, the client's bursts (data the client sends after
# the server last answered): each is one round trip the client waits for.
import asyncio, json, sys
LISTEN, TARGET, COUNTS = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
counts = {}
nid = 0
def dump():
    json.dump(counts, open(COUNTS, 'w'))
async def handle(cr, cw):
    global nid
    nid += 1; me = str(nid)
    counts[me] = 0
    sr, sw = await asyncio.open_connection('127.0.0.1', TARGET)
    state = {'last': 'server'}
    async def c2s():
        while True:
            d = await cr.read(65536)
            if not d: break
            if state['last'] == 'server':
                counts[me] += 1; dump()
            state['last'] = 'client'
            sw.write(d); await sw.drain()
        sw.close()
    async def s2c():
        while True:
            d = await sr.read(65536)
            if not d: break
            state['last'] = 'server'
            cw.write(d); await cw.drain()
        cw.close()
    await asyncio.gather(c2s(), s2c(), return_exceptions=True)
async def main():
    srv = await asyncio.start_server(handle, '127.0.0.1', LISTEN)
    async with srv: await srv.serve_forever()
asyncio.run(main())
