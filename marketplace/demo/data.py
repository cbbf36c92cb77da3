"""The demo marketplace: real places, invented people. Later issues add products and levies."""

from marketplace.levies.models import Beneficiary, LevyKind, LevyScope, Side
from marketplace.sellers.models import SellerKind

ADMIN = {"email": "admin@demo.local", "name": "ผู้ดูแลตลาดชุมชน"}

#: email, name, language, shipping address (subdistrict code, postal code, line) or None.
USERS = [
    {
        "email": "buyer@demo.local",
        "name": "สมศรี ใจดี",
        "language": "th",
        "phone": "0812345601",
        "ship": ("830107", "83130", "45/2 หมู่ 3 ถนนวิเศษ"),
    },
    {
        "email": "seller@demo.local",
        "name": "บุญมี ศรีบ้านเขว้า",
        "language": "th",
        "phone": "0812345602",
    },
    {
        "email": "weaver@demo.local",
        "name": "ฟาตีมะห์ หลังปูเต๊ะ",
        "language": "th",
        "phone": "0812345603",
    },
    {"email": "nursery@demo.local", "name": "สมชาย คีรีวง", "language": "th", "phone": "0812345604"},
    {
        "email": "masang@demo.local",
        "name": "Malee Dongkhilek",
        "language": "en",
        "phone": "0812345605",
    },
    {"email": "treasurer@demo.local", "name": "วิไล ราไวย์", "language": "th", "phone": "0812345606"},
    {
        "email": "treasurer.chaiyaphum@demo.local",
        "name": "ประยูร ชัยภูมิ",
        "language": "th",
        "phone": "0812345607",
    },
]

SELLERS = [
    {
        "name_th": "วิสาหกิจชุมชนข้าวหอมมะลิอินทรีย์บ้านเขว้า",
        "name_en": "Ban Khwao Organic Jasmine Rice Community Enterprise",
        "kind": SellerKind.COMMUNITY_ENTERPRISE,
        "description": "ข้าวหอมมะลิอินทรีย์จากนาของสมาชิกในอำเภอบ้านเขว้า จังหวัดชัยภูมิ "
        "สีใหม่ทุกสัปดาห์ บรรจุถุงละ 5 กิโลกรัม",
        "address_line": "99 หมู่ 1",
        "subdistrict_code": "360201",
        "postal_code": "36170",
        "contact_name": "บุญมี ศรีบ้านเขว้า",
        "phone": "0812345602",
        "promptpay_id": "0812345602",
        "bank_name": "ธ.ก.ส.",
        "bank_account_name": "วิสาหกิจชุมชนข้าวหอมมะลิอินทรีย์บ้านเขว้า",
        "bank_account_number": "0201234567",
        "members": ["seller@demo.local"],
    },
    {
        "name_th": "กลุ่มจักสานคลุ้มบ้านนาทอน",
        "name_en": "Na Thon Khlum Reed Weaving Group",
        "kind": SellerKind.OTOP_GROUP,
        "description": "ตะกร้าและกระเป๋าสานจากต้นคลุ้ม งานมือของแม่บ้านตำบลนาทอน อำเภอทุ่งหว้า จังหวัดสตูล",
        "address_line": "12 หมู่ 4",
        "subdistrict_code": "910602",
        "postal_code": "91120",
        "contact_name": "ฟาตีมะห์ หลังปูเต๊ะ",
        "phone": "0812345603",
        "promptpay_id": "0812345603",
        "members": ["weaver@demo.local"],
        "pickup_note": "ที่ทำการกลุ่ม หมู่ 4 ตำบลนาทอน ทุกวัน 9:00–16:00 น.",
    },
    {
        "name_th": "วิสาหกิจชุมชนเพาะพันธุ์กล้ามังคุดคีรีวง",
        "name_en": "Khiri Wong Mangosteen Seedling Nursery",
        "kind": SellerKind.COMMUNITY_ENTERPRISE,
        "description": "กล้ามังคุดเสียบยอดพันธุ์ดีจากหมู่บ้านคีรีวง ตำบลกำโลน อำเภอลานสกา จังหวัดนครศรีธรรมราช",
        "address_line": "7 หมู่ 5 บ้านคีรีวง",
        "subdistrict_code": "800304",
        "postal_code": "80230",
        "contact_name": "สมชาย คีรีวง",
        "phone": "0812345604",
        "promptpay_id": "0812345604",
        "members": ["nursery@demo.local"],
    },
    {
        "name_th": "กลุ่มผู้ปลูกต้นมะซางดงขี้เหล็ก",
        "name_en": "Dong Khi Lek Ma-sang Tree Growers",
        "kind": SellerKind.OTHER,
        "description": "ต้นมะซาง ไม้ผลพื้นบ้านของตำบลดงขี้เหล็ก อำเภอเมืองปราจีนบุรี",
        "address_line": "33 หมู่ 2",
        "subdistrict_code": "250111",
        "postal_code": "25000",
        "contact_name": "Malee Dongkhilek",
        "phone": "0812345605",
        "promptpay_id": "0812345605",
        "members": ["masang@demo.local"],
    },
]

FUNDS = [
    {
        "name_th": "กองทุนสวัสดิการชุมชนตำบลราไวย์",
        "name_en": "Rawai Community Welfare Fund",
        "description": "กองทุนสวัสดิการของชาวตำบลราไวย์ จังหวัดภูเก็ต: ดูแลสมาชิกตั้งแต่เกิดจนตาย",
        "address_line": "1 ถนนวิเศษ",
        "subdistrict_code": "830107",
        "postal_code": "83130",
        "contact_name": "วิไล ราไวย์",
        "phone": "0812345606",
        "bank_name": "ธนาคารออมสิน",
        "bank_account_name": "กองทุนสวัสดิการชุมชนตำบลราไวย์",
        "bank_account_number": "0203456789",
        "treasurers": ["treasurer@demo.local"],
    },
    {
        "name_th": "กองทุนสวัสดิการชุมชนตำบลบ้านเขว้า",
        "name_en": "Ban Khwao Community Welfare Fund",
        "description": "กองทุนสวัสดิการชุมชนของตำบลบ้านเขว้า จังหวัดชัยภูมิ",
        "address_line": "2 หมู่ 1",
        "subdistrict_code": "360201",
        "postal_code": "36170",
        "contact_name": "ประยูร ชัยภูมิ",
        "phone": "0812345607",
        "bank_name": "ธ.ก.ส.",
        "bank_account_name": "กองทุนสวัสดิการชุมชนตำบลบ้านเขว้า",
        "bank_account_number": "0204567890",
        "treasurers": ["treasurer.chaiyaphum@demo.local"],
    },
]

#: Products by seller (Thai name): category slug, names, unit, price in satang (and quantity
#: prices, if any), stock, grams a unit.
PRODUCTS = {
    "วิสาหกิจชุมชนข้าวหอมมะลิอินทรีย์บ้านเขว้า": [
        {
            "category": "rice-grains",
            "name_th": "ข้าวหอมมะลิอินทรีย์ ถุง 5 กก.",
            "name_en": "Organic jasmine rice, 5 kg bag",
            "unit_label": "ถุง 5 กก.",
            "unit_label_en": "5 kg bag",
            "price_satang": 35000,
            # (from how many bags in one order, price a bag): what a group order aims for.
            "price_tiers": ((50, 32000), (100, 30000)),
            "stock": 120,
            "weight_grams": 5050,
            "description": "ข้าวหอมมะลิ 105 ปลูกแบบอินทรีย์ ได้รับรองมาตรฐานเกษตรอินทรีย์ "
            "สีใหม่ทุกสัปดาห์ บรรจุถุงสุญญากาศ",
        },
        {
            "category": "rice-grains",
            "name_th": "ข้าวกล้องหอมมะลิอินทรีย์ ถุง 1 กก.",
            "name_en": "Organic brown jasmine rice, 1 kg bag",
            "unit_label": "ถุง 1 กก.",
            "unit_label_en": "1 kg bag",
            "price_satang": 9500,
            "stock": 80,
            "weight_grams": 1020,
            "description": "ข้าวกล้องหอมมะลิ ขัดสีน้อย เก็บจมูกข้าวไว้ครบ",
        },
        {
            "category": "rice-grains",
            "name_th": "ข้าวไรซ์เบอร์รี่อินทรีย์ ถุง 1 กก.",
            "name_en": "Organic riceberry, 1 kg bag",
            "unit_label": "ถุง 1 กก.",
            "unit_label_en": "1 kg bag",
            "price_satang": 12000,
            "stock": 60,
            "weight_grams": 1020,
            "description": "ข้าวไรซ์เบอร์รี่สีม่วงเข้ม หอม นุ่ม ปลูกในนาอินทรีย์ของสมาชิก",
        },
    ],
    "กลุ่มจักสานคลุ้มบ้านนาทอน": [
        {
            "category": "woven-handicraft",
            "name_th": "ตะกร้าสานคลุ้ม ใบกลาง",
            "name_en": "Khlum reed basket, medium",
            "unit_label": "ใบ",
            "unit_label_en": "basket",
            "price_satang": 45000,
            "stock": 15,
            "weight_grams": 400,
            "description": "ตะกร้าสานจากต้นคลุ้ม ขนาด 30 x 20 ซม. แข็งแรง ใช้ได้นานหลายปี",
        },
        {
            "category": "woven-handicraft",
            "name_th": "กระเป๋าสานคลุ้มลายดอกพิกุล",
            "name_en": "Khlum reed handbag, pikul pattern",
            "unit_label": "ใบ",
            "unit_label_en": "bag",
            "price_satang": 69000,
            "stock": 8,
            "weight_grams": 350,
            "description": "กระเป๋าถือสานลายดอกพิกุล บุผ้าด้านใน มีซิป",
        },
        {
            "category": "woven-handicraft",
            "name_th": "เสื่อสานคลุ้ม 90 x 180 ซม.",
            "name_en": "Khlum reed mat, 90 x 180 cm",
            "unit_label": "ผืน",
            "unit_label_en": "mat",
            "price_satang": 125050,
            "stock": 4,
            "weight_grams": 1800,
            "description": "เสื่อสานมือ เย็นสบาย พับเก็บได้",
        },
    ],
    "วิสาหกิจชุมชนเพาะพันธุ์กล้ามังคุดคีรีวง": [
        {
            "category": "fruit-plants",
            "name_th": "กล้ามังคุดเสียบยอด สูง 60 ซม.",
            "name_en": "Grafted mangosteen seedling, 60 cm",
            "unit_label": "ต้น",
            "unit_label_en": "seedling",
            "price_satang": 8000,
            "stock": 200,
            "weight_grams": 1500,
            "description": "กล้ามังคุดพันธุ์คีรีวง เสียบยอดจากต้นแม่อายุกว่า 50 ปี ส่งพร้อมถุงดิน",
        },
        {
            "category": "fruit-plants",
            "name_th": "กล้าลองกองคีรีวง",
            "name_en": "Khiri Wong longkong seedling",
            "unit_label": "ต้น",
            "unit_label_en": "seedling",
            "price_satang": 6000,
            "stock": 150,
            "weight_grams": 1200,
            "description": "กล้าลองกองติดตา พร้อมปลูก",
        },
    ],
    "กลุ่มผู้ปลูกต้นมะซางดงขี้เหล็ก": [
        {
            "category": "fruit-plants",
            "name_th": "ต้นมะซาง สูง 1 เมตร",
            "name_en": "Ma-sang tree, 1 m",
            "unit_label": "ต้น",
            "unit_label_en": "tree",
            "price_satang": 15000,
            "stock": 40,
            "weight_grams": 2500,
            "description": "มะซาง ไม้ผลพื้นบ้านปราจีนบุรี ผลหวานหอม ปลูกง่าย ทนแล้ง",
        },
        {
            "category": "processed-food",
            "name_th": "มะซางกวน กระปุก 250 กรัม",
            "name_en": "Ma-sang paste, 250 g jar",
            "unit_label": "กระปุก",
            "unit_label_en": "jar",
            "price_satang": 8500,
            "stock": 0,
            "weight_grams": 320,
            "description": "มะซางกวนสูตรดั้งเดิม ไม่ใส่สารกันบูด (หมดชั่วคราว)",
        },
    ],
}

#: The demo buyer (and any other) belongs to this fund: "the buyer's own fund" rules go there.
BUYER_FUNDS = {"buyer@demo.local": "กองทุนสวัสดิการชุมชนตำบลราไวย์"}

#: Levy rules: who proposes, who accepts, and the agreement.
LEVY_RULES = [
    {
        # The story: for every 5-kg bag of Chaiyaphum rice, 4 baht to the community's fund.
        "seller": "วิสาหกิจชุมชนข้าวหอมมะลิอินทรีย์บ้านเขว้า",
        "fund": "กองทุนสวัสดิการชุมชนตำบลบ้านเขว้า",
        "beneficiary": Beneficiary.FUND,
        "scope": LevyScope.PRODUCT,
        "product": "ข้าวหอมมะลิอินทรีย์ ถุง 5 กก.",
        "kind": LevyKind.PER_UNIT,
        "rate": 400,  # satang a unit
        "side": Side.SELLER,
        "proposer": "seller@demo.local",
        "accepter": "treasurer.chaiyaphum@demo.local",
    },
    {
        "seller": "กลุ่มจักสานคลุ้มบ้านนาทอน",
        "fund": None,
        "beneficiary": Beneficiary.BUYER_FUND,
        "scope": LevyScope.SELLER,
        "kind": LevyKind.PERCENT,
        "rate": 200,  # basis points
        "side": Side.SELLER,
        "proposer": "weaver@demo.local",
        "accepter": "admin@demo.local",
    },
    {
        "seller": "วิสาหกิจชุมชนเพาะพันธุ์กล้ามังคุดคีรีวง",
        "fund": "กองทุนสวัสดิการชุมชนตำบลราไวย์",
        "beneficiary": Beneficiary.FUND,
        "scope": LevyScope.CATEGORY,
        "category": "fruit-plants",
        "kind": LevyKind.PER_KG,
        "rate": 100,  # satang a kg
        "side": Side.FUND,
        "proposer": "treasurer@demo.local",
        "accepter": "nursery@demo.local",
    },
]

#: An open group order (สั่งซื้อรวม): the Rawai fund's treasurer gathers members' rice,
#: a week to pledge, 35 bags short of the ฿320 price.
GROUP_ORDER = {
    "title": "ข้าวหอมมะลิบ้านเขว้าสำหรับสมาชิกกองทุนราไวย์",
    "organiser": "treasurer@demo.local",
    "seller": "วิสาหกิจชุมชนข้าวหอมมะลิอินทรีย์บ้านเขว้า",
    "products": ["ข้าวหอมมะลิอินทรีย์ ถุง 5 กก.", "ข้าวกล้องหอมมะลิอินทรีย์ ถุง 1 กก."],
    "fund": "กองทุนสวัสดิการชุมชนตำบลราไวย์",
    "note": "รับข้าวที่ที่ทำการกองทุน หลังข้าวมาถึงแจ้งในกลุ่ม LINE",
    "days_open": 7,
    "shipping": {
        "name": "วิไล ราไวย์",
        "phone": "0812345606",
        "address_line": "ที่ทำการกองทุนสวัสดิการชุมชน 12 หมู่ 2 ถนนวิเศษ",
        "subdistrict_code": "830107",
        "postal_code": "83130",
    },
    # (who, {product name: units})
    "pledges": [
        ("treasurer@demo.local", {"ข้าวหอมมะลิอินทรีย์ ถุง 5 กก.": 10}),
        (
            "buyer@demo.local",
            {"ข้าวหอมมะลิอินทรีย์ ถุง 5 กก.": 5, "ข้าวกล้องหอมมะลิอินทรีย์ ถุง 1 กก.": 2},
        ),
    ],
}
