"""A Modbus TCP slave built with pymodbus (Debian python3-pymodbus 3.0.0), an implementation we
did not write, holding known values for three units laid out as our shipped profiles say.
Prints "PORT <n>" once listening on 127.0.0.1 (port 0 = any free port); runs until killed.
Values are encoded here with struct, independently of the driver's codec.

usage: python3 pymodbus_slave.py [port]
"""
import asyncio
import struct
import sys

from pymodbus.datastore import (
    ModbusSequentialDataBlock,
    ModbusServerContext,
    ModbusSlaveContext,
)
from pymodbus.server.async_io import ModbusTcpServer


def f32_cdab(value):
    """float32, low word first (CDAB), as the water probe sends it."""
    hi, lo = struct.unpack(">HH", struct.pack(">f", value))
    return [lo, hi]


def u32_cdab(value):
    hi, lo = struct.unpack(">HH", struct.pack(">I", value))
    return [lo, hi]


def block(size, values):
    data = [0] * size
    for address, words in values.items():
        data[address : address + len(words)] = words
    return ModbusSequentialDataBlock(0, data)


def pm25_sensor():
    # pm2_5 35, pm10 71, humidity 55.5 %RH (x0.1), temperature -3.2 degC (i16 x0.1), uptime 70000 h (u32 CDAB)
    hr = block(16, {0: [35, 71, 555, struct.unpack(">H", struct.pack(">h", -32))[0]], 6: u32_cdab(70000)})
    return ModbusSlaveContext(hr=hr, ir=block(1, {}), co=block(1, {}), di=block(1, {}), zero_mode=True)


def water_probe():
    values = [7.25, 6.5, 12.75, 415.5, 17.25, 0.5, 18.0]  # ph, DO, turbidity, conductivity, temp, NH3-N, COD
    ir = {2 * i: f32_cdab(v) for i, v in enumerate(values)}
    ir[100] = [3]  # probe_status
    return ModbusSlaveContext(ir=block(128, ir), hr=block(4, {0: [30]}), co=block(1, {}), di=block(1, {}), zero_mode=True)


def siren_relay():
    co = ModbusSequentialDataBlock(0, [False] * 8)
    di = ModbusSequentialDataBlock(0, [True, False] + [False] * 6)  # cabinet_door open, mains off
    return ModbusSlaveContext(co=co, di=di, hr=block(4, {0: [120]}), ir=block(1, {}), zero_mode=True)


async def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    context = ModbusServerContext(slaves={1: pm25_sensor(), 2: water_probe(), 3: siren_relay()}, single=False)
    server = ModbusTcpServer(context, address=("127.0.0.1", port), allow_reuse_address=True)
    task = asyncio.create_task(server.serve_forever())
    await server.serving
    print(f"PORT {server.server.sockets[0].getsockname()[1]}", flush=True)
    await task


if __name__ == "__main__":
    asyncio.run(main())
