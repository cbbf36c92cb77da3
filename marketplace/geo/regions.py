"""The official six-region scheme (National Geographical Committee, 1977).

North 9, Central 22 with Bangkok, Northeast 20, West 5, East 7, South 14: 77 provinces.
Keys are DOPA province codes.
"""

#: code -> (Thai name, English name), in display order.
REGIONS = {
    "north": ("ภาคเหนือ", "North"),
    "central": ("ภาคกลาง", "Central"),
    "northeast": ("ภาคตะวันออกเฉียงเหนือ", "Northeast"),
    "west": ("ภาคตะวันตก", "West"),
    "east": ("ภาคตะวันออก", "East"),
    "south": ("ภาคใต้", "South"),
}

_MEMBERS = {
    # Chiang Mai, Lamphun, Lampang, Uttaradit, Phrae, Nan, Phayao, Chiang Rai, Mae Hong Son
    "north": ("50", "51", "52", "53", "54", "55", "56", "57", "58"),
    # Bangkok, Samut Prakan, Nonthaburi, Pathum Thani, Ayutthaya, Ang Thong, Lop Buri,
    # Sing Buri, Chai Nat, Saraburi, Nakhon Nayok, Nakhon Sawan, Uthai Thani,
    # Kamphaeng Phet, Sukhothai, Phitsanulok, Phichit, Phetchabun, Suphan Buri,
    # Nakhon Pathom, Samut Sakhon, Samut Songkhram
    "central": (
        "10",
        "11",
        "12",
        "13",
        "14",
        "15",
        "16",
        "17",
        "18",
        "19",
        "26",
        "60",
        "61",
        "62",
        "64",
        "65",
        "66",
        "67",
        "72",
        "73",
        "74",
        "75",
    ),
    # Nakhon Ratchasima ... Mukdahan: every code from 30 to 49
    "northeast": tuple(str(code) for code in range(30, 50)),
    # Ratchaburi, Kanchanaburi, Tak, Phetchaburi, Prachuap Khiri Khan
    "west": ("70", "71", "63", "76", "77"),
    # Chon Buri, Rayong, Chanthaburi, Trat, Chachoengsao, Prachin Buri, Sa Kaeo
    "east": ("20", "21", "22", "23", "24", "25", "27"),
    # Nakhon Si Thammarat, Krabi, Phang-nga, Phuket, Surat Thani, Ranong, Chumphon,
    # Songkhla, Satun, Trang, Phatthalung, Pattani, Yala, Narathiwat
    "south": ("80", "81", "82", "83", "84", "85", "86", "90", "91", "92", "93", "94", "95", "96"),
}

#: DOPA province code -> region code.
PROVINCE_REGION = {code: region for region, codes in _MEMBERS.items() for code in codes}
