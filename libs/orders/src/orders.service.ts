import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import type { AuthUser } from '@app/auth';
import type { Page } from '@app/http';
import { UsersService } from '@app/users';
import { Order } from './order.entity';
import { OrderViews } from './order-views';
import type { OrderListQuery, OrderView } from './orders.dto';
import { OrderNotFoundError } from './orders.errors';

@Injectable()
export class OrdersService {
  constructor(
    @InjectRepository(Order) private readonly orders: Repository<Order>,
    private readonly views: OrderViews,
    private readonly users: UsersService,
  ) {}

  async listMine(userId: string, query: OrderListQuery): Promise<Page<OrderView>> {
    const [orders, total] = await this.orders.findAndCount({
      where: { userId, ...(query.status ? { status: query.status } : {}) },
      order: { createdAt: 'DESC', id: 'ASC' },
      skip: query.offset,
      take: query.pageSize,
    });
    return {
      items: await this.views.of(orders),
      page: query.page,
      pageSize: query.pageSize,
      total,
    };
  }

  async get(orderId: string, caller: AuthUser): Promise<OrderView> {
    const [view] = await this.views.of([await this.findVisible(orderId, caller)]);
    return view;
  }

  /**
   * The caller's own order, or any order for an admin (role checked in the database).
   * Another buyer's order is "not found", so ids cannot be probed.
   */
  async findVisible(orderId: string, caller: AuthUser): Promise<Order> {
    const order = await this.orders.findOneBy({ id: orderId });
    if (
      order &&
      (order.userId === caller.id || (await this.users.findById(caller.id))?.role === 'admin')
    ) {
      return order;
    }
    throw new OrderNotFoundError();
  }
}
