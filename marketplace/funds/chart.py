"""The levy chart as geometry for a server-rendered SVG (templates/funds/_report.html).

Horizontal bars, one a month (or a year), oldest at the top: the label on the left, the
bar, and the bar's value in baht on the right, over a value axis in baht. The drawing is
320 units wide, about the room a 360 px phone leaves it, so its text stays near its nominal
size there; wider screens and paper cap its width (static/css/report.css). No Flask and
no database here: the caller gives labels and a money formatter.
"""

from dataclasses import dataclass

WIDTH = 320
#: Labels end here (anchored at their end), the plot runs between these, values end here.
LABEL_END = 50
PLOT_LEFT, PLOT_RIGHT = 56, 222
VALUE_END = 318
TOP = 4
ROW = 26
BAR = 16
#: Room under the bars for the axis' labels.
AXIS = 26
LABEL_SIZE, VALUE_SIZE, TICK_SIZE = 13, 12, 11
#: A rough advance of one character of Sarabun, in font sizes, to keep tick labels apart.
CHAR_WIDTH = 0.6


@dataclass(frozen=True)
class Bar:
    label: str
    accrued_satang: int
    reversed_satang: int
    #: Inside the report's period (drawn dark), or shown for comparison (drawn light).
    highlighted: bool
    y: float
    net_width: float
    reversed_width: float
    value_text: str

    @property
    def net_satang(self):
        return self.accrued_satang - self.reversed_satang

    @property
    def text_y(self):
        return self.y + BAR / 2 + 4


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Chart:
    bars: list
    ticks: list
    height: int
    plot_bottom: int
    has_reversals: bool
    has_comparison: bool
    width: int = WIDTH
    plot_left: int = PLOT_LEFT
    plot_right: int = PLOT_RIGHT
    label_end: int = LABEL_END
    value_end: int = VALUE_END
    bar_height: int = BAR
    label_size: int = LABEL_SIZE
    value_size: int = VALUE_SIZE
    tick_size: int = TICK_SIZE

    @property
    def accrued_satang(self):
        return sum(bar.accrued_satang for bar in self.bars)

    @property
    def reversed_satang(self):
        return sum(bar.reversed_satang for bar in self.bars)

    @property
    def net_satang(self):
        return self.accrued_satang - self.reversed_satang


def _steps(smallest):
    step = smallest
    while True:
        for factor in (1, 2, 5):
            yield step * factor
        step *= 10


def tick_label(satang, money):
    """An axis label: whole baht without ``.00`` (``฿50``), else as money shows it."""
    text = money(satang)
    return text.removesuffix(".00") if satang % 100 == 0 else text


def axis(largest, money, plot_width=PLOT_RIGHT - PLOT_LEFT):
    """``(top, step)`` of a value axis reaching ``largest`` satang in round steps (whole baht
    from ฿1), as many as fit with their labels apart: at most four."""
    largest = max(largest, 1000)
    smallest = 100 if largest >= 100 else 1
    for most in (4, 3, 2, 1):
        step = next(s for s in _steps(smallest) if -(-largest // s) <= most)
        count = -(-largest // step)
        widest = max(len(tick_label(step * i, money)) for i in range(count + 1))
        if count == 1 or plot_width / count >= widest * TICK_SIZE * CHAR_WIDTH + 6:
            return step * count, step
    raise AssertionError("unreachable: one step always fits")


def bar_chart(points, money):
    """The chart of ``points``: ``(label, accrued_satang, reversed_satang, highlighted)``,
    top to bottom; ``money`` formats satang (``format_satang``)."""
    points = list(points)
    top, step = axis(max((accrued for _label, accrued, _rev, _hi in points), default=0), money)
    scale = (PLOT_RIGHT - PLOT_LEFT) / top
    bars = []
    for index, (label, accrued, reversed_, highlighted) in enumerate(points):
        net = accrued - reversed_
        net_width = max(net, 0) * scale
        bars.append(
            Bar(
                label=label,
                accrued_satang=accrued,
                reversed_satang=reversed_,
                highlighted=highlighted,
                y=TOP + index * ROW + (ROW - BAR) / 2,
                net_width=round(net_width, 2),
                reversed_width=round(max(accrued * scale - net_width, 0), 2),
                value_text=money(net),
            )
        )
    plot_bottom = TOP + len(points) * ROW
    ticks = [
        Tick(round(PLOT_LEFT + value * scale, 2), tick_label(value, money))
        for value in range(0, top + 1, step)
    ]
    return Chart(
        bars=bars,
        ticks=ticks,
        height=plot_bottom + AXIS,
        plot_bottom=plot_bottom,
        has_reversals=any(bar.reversed_satang for bar in bars),
        has_comparison=any(not bar.highlighted for bar in bars),
    )
