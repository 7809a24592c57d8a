"""aiohttp service that starts a background task per request to await a webhook callback that never comes.

Each request registers a Future in `_awaiting_callback` (keyed by request)
and starts a task that awaits it with the request's payload in hand. Nothing
ever resolves the futures, so tasks, their coroutines and payloads pile up
on a loop that is otherwise idle.

    python3 asyncio_pending_tasks.py PORT
"""
import asyncio
import random
import sys

from aiohttp import web

from request_churn import churn

_awaiting_callback = {}


async def settle_when_called_back(request_id, payload, callback):
    result = await callback
    return len(payload) + len(result)


async def checkout(request):
    request_id = request.query.get('n', str(random.random()))
    payload = {'items': ['item-%d-%s' % (i, 'p' * random.randint(40, 120)) for i in range(60)],
               'request': request_id}
    callback = asyncio.get_running_loop().create_future()
    _awaiting_callback[request_id] = callback
    asyncio.create_task(settle_when_called_back(request_id, payload, callback))
    churn()
    return web.json_response({'pending': len(_awaiting_callback)})


def main():
    app = web.Application()
    app.router.add_get('/checkout', checkout)
    web.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == '__main__':
    main()
