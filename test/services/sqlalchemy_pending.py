"""Order-intake service: SQLAlchemy 1.4 ORM on in-memory sqlite, one long-lived Session.

Every request adds an Order and its OrderLines to the module's one Session
and never commits or flushes (autoflush is off and nothing queries), so the
Session's pending set holds every Order ever received.

    python3 sqlalchemy_pending.py PORT
"""
import random
import sys

from sqlalchemy import Column, ForeignKey, Integer, String, Text, create_engine
from sqlalchemy.orm import Session, declarative_base, relationship

from plain_http import serve
from request_churn import churn

Base = declarative_base()


class Order(Base):
    __tablename__ = 'orders'
    id = Column(Integer, primary_key=True)
    customer = Column(String(64))
    note = Column(Text)
    lines = relationship('OrderLine', back_populates='order')


class OrderLine(Base):
    __tablename__ = 'order_lines'
    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey('orders.id'))
    sku = Column(String(32))
    quantity = Column(Integer)
    order = relationship('Order', back_populates='lines')


engine = create_engine('sqlite://')
Base.metadata.create_all(engine)
session = Session(engine, autoflush=False)


def take_order(path):
    rng = random.Random()
    order = Order(customer='customer-%d' % rng.randrange(10**6), note='n' * rng.randint(200, 800))
    for i in range(rng.randint(3, 6)):
        order.lines.append(OrderLine(sku='SKU-%06d' % rng.randrange(10**6), quantity=rng.randint(1, 9)))
    session.add(order)
    churn(rng)
    return b'{"accepted": true}'


if __name__ == '__main__':
    serve(int(sys.argv[1]), take_order)
