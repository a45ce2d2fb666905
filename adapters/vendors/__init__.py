"""Vendor adapters, one file each, registered here: adding a brand is one file plus one line."""

from adapters.base import Adapter
from adapters.vendors.abb import ABB
from adapters.vendors.alfen import Alfen
from adapters.vendors.chago import Chago
from adapters.vendors.growatt import Growatt
from adapters.vendors.huawei import Huawei
from adapters.vendors.iocharger import Iocharger
from adapters.vendors.keba import Keba
from adapters.vendors.microocpp import MicroOcpp
from adapters.vendors.openevse import OpenEVSE
from adapters.vendors.wallbox import Wallbox
from adapters.vendors.zaptec import Zaptec

ADAPTERS: dict[str, type[Adapter]] = {
    cls.name: cls
    for cls in (ABB, Alfen, Chago, Growatt, Huawei, Iocharger, Keba, MicroOcpp, OpenEVSE,
                Wallbox, Zaptec)
}
